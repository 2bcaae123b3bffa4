-- wrk script: POSTs ShareID callbacks to the app, each to its session's notification URL
-- (/webhooks/shareid/?token=<the session's token>). Made by benchmarks/shareid_callback.py;
-- arguments after `--`: <data prefix> <first delivery number>. Each thread reads its own file
-- <prefix>.<thread number>: one "path body" line per session. The app deduplicates on the body's
-- hash, so every request gets a body of its own: its "bench_delivery" (0 in the file) is numbered
-- from the first delivery number (each wrk run its own), and the thread number written in the
-- file's bodies keeps two threads' bodies apart.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  paths, heads, tails = {}, {}, {}
  for line in io.lines(args[1] .. "." .. tid) do
    local path, body = line:match("^(%S+) (.*)$")
    local head, tail = body:match('^(.*"bench_delivery": )0(.*)$')
    table.insert(paths, path)
    table.insert(heads, head)
    table.insert(tails, tail)
  end
  counter = tonumber(args[2])
end

function request()
  counter = counter + 1
  local i = counter % #paths + 1
  local headers = {["Content-Type"] = "application/json"}
  return wrk.format("POST", paths[i], headers, heads[i] .. counter .. tails[i])
end
