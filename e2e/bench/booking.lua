-- wrk script: POST /api/v1/bookings with a fresh Idempotency-Key per request, spread over the
-- free slots listed in slots.lua (written by scripts/bench-server.sh). Counts answers by status.
local slots = dofile(os.getenv("FAIRSLOT_SLOTS_LUA"))
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

local body_template = '{"slot_id":"%s","patient":{"name":"测试","document_kind":"resident_id",' ..
  '"document_number":"11010519491231002X","phone":"13812345678","relationship":"self","consent":true}}'

function request()
  counter = counter + 1
  local slot = slots[(counter * 7919 + tid * 104729) % #slots + 1]
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", tid, counter, os.time()),
    ["X-Fairslot-Channel"] = "bench",
  }
  return wrk.format("POST", "/api/v1/bookings", headers, string.format(body_template, slot))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %d: %d\n", k, v)) end
end
