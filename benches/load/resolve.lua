-- wrk script: GET a GS1 Digital Link of a random registered lot (seed.py's codes).
-- CODES comes from the environment; MODE=redirect (default: a scan, answered 307 to the
-- verification page) or MODE=linkset (Accept: application/linkset+json, answered 200).
local codes = tonumber(os.getenv("CODES"))
local mode = os.getenv("MODE") or "redirect"
local headers = {}
if mode == "linkset" then
  headers["Accept"] = "application/linkset+json"
end

-- Each wrk thread has its own Lua state with the same random sequence: number the threads
-- and seed each differently, or they all ask for the same codes.
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

local function check_digit(body)
  local total = 0
  local len = #body
  for i = 1, len do
    local d = tonumber(body:sub(len - i + 1, len - i + 1))
    total = total + d * ((i % 2 == 1) and 3 or 1)
  end
  return (10 - total % 10) % 10
end

request = function()
  local n = math.random(0, codes - 1)
  local body12 = string.format("893%09d", n)
  local gtin = "0" .. body12 .. check_digit(body12)
  return wrk.format("GET", string.format("/01/%s/10/L%d", gtin, n), headers)
end
