-- wrk script: asks for every line of $PATHS_FILE once (one URL path per line), the lines
-- shared out among wrk's connections, then stops. Counts the answers a cache served.
local paths = {}
local file = assert(io.open(os.getenv("PATHS_FILE"), "r"))
for line in file:lines() do paths[#paths + 1] = line end
file:close()

local threads = {}
local count = 0
setup = function(thread)
  count = count + 1
  thread:set("id", count)
  thread:set("hits", 0)
  table.insert(threads, thread)
end

init = function(args)
  step = tonumber(os.getenv("WRK_THREADS"))
  next_line = id
end

hits = 0
request = function()
  if next_line > #paths then
    wrk.thread:stop()
    next_line = 1  -- answers still in flight may ask once more
  end
  local path = paths[next_line]
  next_line = next_line + step
  return wrk.format("GET", path)
end

response = function(status, headers, body)
  if headers["X-Cache"] == "hit" then hits = hits + 1 end
end

done = function(summary, latency, requests)
  local cached = 0
  for _, thread in ipairs(threads) do cached = cached + thread:get("hits") end
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"rps\": %.1f, \"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, \"errors\": %d, \"non2xx\": %d, \"cache_hits\": %d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, cached))
end
