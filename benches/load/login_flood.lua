-- wrk script: POST /v1/auth/login for emails that have no account, every request a new
-- email (thread-numbered), each one a full password check (the dummy hash).
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"email":"flood-%d-%d@example.vn","password":"not-a-real-password-%d"}',
    tid, counter, counter)
  return wrk.format("POST", "/v1/auth/login", {["Content-Type"] = "application/json"}, body)
end

local statuses = {}
response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("login answers: %d\n", summary.requests))
end
