-- POST /api/users/login. Every request costs one bcrypt verification on the server.
-- Credentials: BENCH_EMAIL / BENCH_PASSWORD (default: the seeded user1).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

wrk.method = "POST"
wrk.headers["Accept"] = "application/json"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"user":{"email":' .. bench_json_string(bench_env("BENCH_EMAIL", "user1@seed.fleet")) ..
  ',"password":' .. bench_json_string(bench_env("BENCH_PASSWORD", "password123")) .. '}}'
