-- One endpoint's load for scripts/benchmark.py. Requests come from a file, one per line
-- (METHOD <tab> PATH <tab> BODY); thread t of n sends lines offset+t, offset+t+n, ...,
-- so a list of one-time writes (fresh coachee-months) is never sent twice.
-- wrk -s benchmark.lua URL -- FILE OFFSET THREADS TOKEN
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, offset = args[1], tonumber(args[2])
  step = tonumber(args[3])
  wrk.headers["Authorization"] = "Bearer " .. args[4]
  wrk.headers["Content-Type"] = "application/json"
  prepared = {}
  for line in io.lines(file) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if body == "" then body = nil end
    prepared[#prepared + 1] = wrk.format(method, path, nil, body)
  end
  index = offset + id
  used = 0
end

function request()
  local prepared_request = prepared[(index % #prepared) + 1]
  index = index + step
  used = used + 1
  return prepared_request
end

function done(summary, latency, _)
  local most = 0
  for _, thread in ipairs(threads) do
    local sent = thread:get("used") or 0
    if sent > most then most = sent end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCHMARK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"most_sent": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(99),
    latency.max, most))
end
