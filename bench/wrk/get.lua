-- GET the URL given to wrk. Sends "Authorization: Token $BENCH_TOKEN" when BENCH_TOKEN is set
-- (used for the feed). The request is static, so wrk builds it once: no per-request Lua.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

wrk.method = "GET"
wrk.headers["Accept"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Token " .. token
end
