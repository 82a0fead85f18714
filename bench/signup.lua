-- Every request a new address, so each one is a real signup write. Each wrk thread gets its
-- own prefix: identical addresses from two threads would measure row-lock waits instead.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  prefix = tostring(thread_number) .. "-" .. tostring(os.time())
  counter = 0
end

function request()
  counter = counter + 1
  local body = '{"email": "reader' .. prefix .. '-' .. counter .. '@example.com"}'
  return wrk.format("POST", "/api/subscriptions", {["Content-Type"] = "application/json"}, body)
end
