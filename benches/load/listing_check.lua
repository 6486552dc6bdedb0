-- wrk script: POST /v1/listing-checks with a random bound shop and one of its codes.
-- SELLERS, CODES and TOKEN come from the environment (see run.sh).
local sellers = tonumber(os.getenv("SELLERS"))
local codes = tonumber(os.getenv("CODES"))
local token = os.getenv("TOKEN")
-- HOT=N draws codes from the first N only (a working set the caches can hold).
local hot = tonumber(os.getenv("HOT") or os.getenv("CODES"))
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
  local n = math.random(0, hot - 1)
  local body12 = string.format("893%09d", n)
  local gtin = "0" .. body12 .. check_digit(body12)
  local shop = n % sellers
  local payload = string.format(
    '{"shop_id":"shop-%d","listing_id":"l-%d-%d","category":"cosmetics","title":"Load listing","codes":["(01)%s(10)L%d"]}',
    shop, math.random(1, 1000000000), counter, gtin, n)
  return wrk.format("POST", "/v1/listing-checks", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, payload)
end

-- With RATE set (requests/s in all) and CONNS (wrk -c), each connection waits between
-- requests so that the whole run paces itself near RATE.
local rate = tonumber(os.getenv("RATE") or "0")
local conns = tonumber(os.getenv("CONNS") or "1")
delay = function()
  if rate > 0 then
    return 1000 * conns / rate
  end
  return 0
end
