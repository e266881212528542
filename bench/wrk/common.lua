-- Shared by every bench script (loaded with dofile). It does two things:
--   * done() prints ONE machine-readable line, "BENCH_JSON {...}", after wrk's own report;
--   * when BENCH_STATUS_CODES=1, response() counts replies per HTTP status. Defining
--     response() makes wrk hand every reply to Lua, which costs throughput, so run.sh only
--     turns it on for a diagnostic re-run of an endpoint that produced non-2xx replies.

local threads = {}

-- Runs once per wrk thread in the main Lua state; keep the handles for done().
function setup(thread)
  table.insert(threads, thread)
end

if os.getenv("BENCH_STATUS_CODES") == "1" then
  statuses = {}  -- global, so that thread:get("statuses") can copy it out
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

-- Reads a required environment variable (fails the wrk run loudly when missing).
function bench_env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    if default ~= nil then return default end
    error("environment variable " .. name .. " is required by this script")
  end
  return value
end

-- Minimal JSON string escaping for values taken from the environment.
function bench_json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

function done(summary, latency, requests)
  local function ms(us) return us / 1000.0 end
  local seconds = summary.duration / 1e6
  local e = summary.errors

  -- Per-status counts, summed over threads (empty unless BENCH_STATUS_CODES=1).
  local codes, parts = {}, {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if type(s) == "table" then
      for code, n in pairs(s) do codes[code] = (codes[code] or 0) + n end
    end
  end
  for code, n in pairs(codes) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  table.sort(parts)

  io.write("BENCH_JSON ", string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.2f,"bytes":%d,' ..
    '"latency_ms":{"mean":%.3f,"stdev":%.3f,"max":%.3f,"p50":%.3f,"p90":%.3f,"p95":%.3f,"p99":%.3f,"p999":%.3f},' ..
    '"non2xx":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"status_codes":{%s}}',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    ms(latency.mean), ms(latency.stdev), ms(latency.max),
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(95)),
    ms(latency:percentile(99)), ms(latency:percentile(99.9)),
    e.status, e.connect, e.read, e.write, e.timeout,
    table.concat(parts, ",")), "\n")
end
