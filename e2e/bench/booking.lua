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
  '"document_number":"%s","phone":"%s","relationship":"self","consent":true}}'

-- A different patient for every request, as in a release surge: the server's real-name rules
-- (one booking per person per doctor per day, three per person and per phone) would refuse one
-- patient booking again and again. A valid GB 11643 number (check character included) for n.
local weights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local function resident_id(n)
  local seq = n % 1000; n = math.floor(n / 1000)
  local day = n % 28 + 1; n = math.floor(n / 28)
  local month = n % 12 + 1; n = math.floor(n / 12)
  local body = string.format("110105%04d%02d%02d%03d", 1950 + n % 50, month, day, seq)
  local sum = 0
  for i = 1, 17 do sum = sum + tonumber(body:sub(i, i)) * weights[i] end
  local c = sum % 11 + 1
  return body .. ("10X98765432"):sub(c, c)
end

function request()
  counter = counter + 1
  local slot = slots[(counter * 7919 + tid * 104729) % #slots + 1]
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", tid, counter, os.time()),
    ["X-Fairslot-Channel"] = "bench",
  }
  local patient = counter * 8 + tid
  local body = string.format(body_template, slot, resident_id(patient), string.format("139%08d", patient % 100000000))
  return wrk.format("POST", "/api/v1/bookings", headers, body)
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
