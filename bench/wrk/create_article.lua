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
