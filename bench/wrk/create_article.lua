-- POST /api/articles with the same body every time (slugs are unique per article id, so
-- reusing the title is fine). Needs BENCH_TOKEN (a user's JWT).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local paragraph = "Benchmarks are only as honest as the data behind them. " ..
  "This article was written by wrk to measure how fast Fleet can take a new article. "

wrk.method = "POST"
wrk.headers["Accept"] = "application/json"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Token " .. bench_env("BENCH_TOKEN")
wrk.body = '{"article":{"title":"Benchmark article",' ..
  '"description":"Created by the Fleet benchmark",' ..
  '"body":' .. bench_json_string(string.rep(paragraph, 6)) .. ',' ..
  '"tagList":["bench","wrk"]}}'

-- BENCH_IDEMPOTENCY_KEYS=1: each request carries an Idempotency-Key of its own (the start
-- time, this thread's Lua state, a count), as a careful client's creates do.
if os.getenv("BENCH_IDEMPOTENCY_KEYS") == "1" then
  local prefix = os.time() .. "-" .. tostring({}):match("0x%x+") .. "-"
  local count = 0
  function request()
    count = count + 1
    wrk.headers["Idempotency-Key"] = prefix .. count
    return wrk.format()
  end
end
