-- Every request a new address, so each one is a real signup write.
local counter = 0
local prefix = tostring(math.random(1, 1000000000))

request = function()
  counter = counter + 1
  local body = '{"email": "reader' .. prefix .. '-' .. counter .. '@example.com"}'
  return wrk.format("POST", "/api/subscriptions", {["Content-Type"] = "application/json"}, body)
end
