-- wrk script shared by every target of bench/http.sh, so the load generator does the same work for each.
-- Usage: wrk ... -s bench/wrk/requests.lua -- REQUESTS_FILE
-- REQUESTS_FILE holds one request per line: METHOD<TAB>PATH[<TAB>BODY]. They are formatted once in
-- init() (with the -H headers) and then cycled, so no request is built while measuring.
-- done() prints one machine-readable line that http.sh parses:
--   RESULT <requests> <seconds> <p50_us> <p99_us> <non_2xx_3xx> <socket_errors>

local requests = {}
local count = 0
local next_index = 0

function init(args)
  local file = args[1]
  if file == nil then error("requests.lua: pass the requests file after --") end
  for line in io.lines(file) do
    local method, path, body = line:match("^([^\t]+)\t([^\t]+)\t?(.*)$")
    if method ~= nil then
      if body == "" then body = nil end
      count = count + 1
      requests[count] = wrk.format(method, path, nil, body)
    end
  end
  if count == 0 then error("requests.lua: no requests in " .. file) end
end

function request()
  next_index = next_index % count + 1
  return requests[next_index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("RESULT %d %.6f %d %d %d %d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
