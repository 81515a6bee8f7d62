-- wrk script: each request asks for a random line of $PATHS_FILE (one URL path per line).
-- Counts the answers a cache served (an "X-Cache: hit" header), across wrk's threads.
local paths = {}
local file = assert(io.open(os.getenv("PATHS_FILE"), "r"))
for line in file:lines() do paths[#paths + 1] = line end
file:close()
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)

local threads = {}
setup = function(thread)
  thread:set("hits", 0)
  table.insert(threads, thread)
end

hits = 0
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
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
