-- wrk script: each request asks for a random line of $PATHS_FILE (one URL path per line).
local paths = {}
local file = assert(io.open(os.getenv("PATHS_FILE"), "r"))
for line in file:lines() do paths[#paths + 1] = line end
file:close()
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end

done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"rps\": %.1f, \"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, \"errors\": %d, \"non2xx\": %d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
