-- wrk script: POST /v1/listing-checks, every request a new listing of a random bound shop
-- with a code drawn uniformly from the registered ones.
-- SELLERS, CODES, TOKEN, PHASE and ACKED (a folder) come from the environment (run.sh).
-- Each thread is numbered in setup() and seeded in init(): wrk gives every thread's Lua
-- state the same random sequence otherwise. Every listing id carries the phase, thread
-- and a counter, so no two requests ask about the same listing; each 200 answer's listing
-- id is written to ACKED/<phase>-<thread>.txt for run.sh to find in the database.
local sellers = tonumber(os.getenv("SELLERS"))
local codes = tonumber(os.getenv("CODES"))
local token = os.getenv("TOKEN")
local phase = os.getenv("PHASE") or "single"
local acked_dir = os.getenv("ACKED")
-- HOT=N draws codes from the first N only (a working set).
local hot = tonumber(os.getenv("HOT") or os.getenv("CODES"))

local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local counter = 0
local acked = nil
function init(args)
  math.randomseed(tid * 1000003 + os.time())
  if acked_dir then
    acked = io.open(string.format("%s/%s-%d.txt", acked_dir, phase, tid), "w")
    -- wrk does not close its Lua states at exit: nothing may wait in a buffer.
    acked:setvbuf("line")
  end
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
  counter = counter + 1
  local n = math.random(0, hot - 1)
  local body12 = string.format("893%09d", n)
  local gtin = "0" .. body12 .. check_digit(body12)
  local payload = string.format(
    '{"shop_id":"shop-%d","listing_id":"l-%s-%d-%d","category":"cosmetics","title":"Load listing","codes":["(01)%s(10)L%d"]}',
    n % sellers, phase, tid, counter, gtin, n)
  return wrk.format("POST", "/v1/listing-checks", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, payload)
end

response = function(status, headers, body)
  if status == 200 and acked then
    local id = body:match('"listing_id":"([^"]*)"')
    if id then
      acked:write(id, "\n")
    end
  end
end

-- With DELAY_MS set, each connection waits that long after each answer before asking
-- again (run.sh calibrates it so that the whole run keeps a given rate).
local pause = tonumber(os.getenv("DELAY_MS") or "0")
delay = function()
  return pause
end
