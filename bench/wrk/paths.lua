-- GET each path of the file $BENCH_PATHS (one per line, e.g. made by bench/lib/zipf_paths.py)
-- in order, wrapping around. Every thread reads the file once and starts at its own offset,
-- thread index * lines / $BENCH_THREADS, so the threads do not replay the same requests in
-- lockstep. Anonymous, Accept: application/json. Used by bench/cache.sh. (wrk calls request()
-- once on the first thread to check the script, so that thread begins one path further on.)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

wrk.method = "GET"
wrk.headers["Accept"] = "application/json"

-- Main Lua state: number the threads (common.lua's setup keeps the handles for done()).
local common_setup = setup
local next_index = 0
function setup(thread)
  thread:set("thread_index", next_index)
  next_index = next_index + 1
  common_setup(thread)
end

-- Each thread's Lua state from here on.
local paths, position = {}, 1

function init(args)
  local file_name = bench_env("BENCH_PATHS")
  local file = assert(io.open(file_name, "r"), "cannot open BENCH_PATHS=" .. file_name)
  for line in file:lines() do
    if line ~= "" then paths[#paths + 1] = line end
  end
  file:close()
  assert(#paths > 0, "no paths in " .. file_name)
  local threads = tonumber(bench_env("BENCH_THREADS", "1"))
  position = math.floor((thread_index or 0) * #paths / threads) % #paths + 1
end

function request()
  local path = paths[position]
  position = position % #paths + 1
  return wrk.format("GET", path)
end
