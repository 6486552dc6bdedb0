-- wrk script: POST /v1/listing-checks/batch with BATCH random listings per request.
-- SELLERS, CODES, TOKEN and BATCH come from the environment (see run.sh).
local sellers = tonumber(os.getenv("SELLERS"))
local codes = tonumber(os.getenv("CODES"))
local token = os.getenv("TOKEN")
local size = tonumber(os.getenv("BATCH") or "1000")
local counter = 0

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
      '{"shop_id":"shop-%d","listing_id":"b-%d-%d-%d","category":"cosmetics","title":"Load listing","codes":["(01)0%s%d(10)L%d"]}',
      n % sellers, math.random(1, 1000000000), counter, i, body12, check_digit(body12), n)
  end
  return wrk.format("POST", "/v1/listing-checks/batch", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, '{"listings":[' .. table.concat(items, ",") .. ']}')
end
