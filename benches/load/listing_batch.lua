-- wrk script: POST /v1/listing-checks/batch with BATCH new listings per request (random
-- bound shops, codes drawn uniformly from the registered ones).
-- SELLERS, CODES, TOKEN, BATCH, PHASE and ACKED come from the environment (run.sh).
-- Threads are numbered and seeded as in listing_check.lua; every listing id is new, and
-- the listing ids of each 200 answer are written to ACKED/<phase>-<thread>.txt.
local sellers = tonumber(os.getenv("SELLERS"))
local codes = tonumber(os.getenv("CODES"))
local token = os.getenv("TOKEN")
local size = tonumber(os.getenv("BATCH") or "1000")
local phase = os.getenv("PHASE") or "batch"
local acked_dir = os.getenv("ACKED")

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
  local items = {}
  for i = 1, size do
    local n = math.random(0, codes - 1)
    local body12 = string.format("893%09d", n)
    items[i] = string.format(
      '{"shop_id":"shop-%d","listing_id":"b-%s-%d-%d-%d","category":"cosmetics","title":"Load listing","codes":["(01)0%s%d(10)L%d"]}',
      n % sellers, phase, tid, counter, i, body12, check_digit(body12), n)
  end
  return wrk.format("POST", "/v1/listing-checks/batch", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, '{"listings":[' .. table.concat(items, ",") .. ']}')
end

response = function(status, headers, body)
  if status == 200 and acked then
    for id in body:gmatch('"listing_id":"([^"]*)"') do
      acked:write(id, "\n")
    end
  end
end
