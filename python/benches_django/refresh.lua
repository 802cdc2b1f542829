-- wrk script: POSTs {"refresh": <token>} to the URL, each token of the file
-- (one per line, args[1]) used once. wrk runs each thread in a Lua state of
-- its own: thread i of n takes the lines i, i + n, i + 2n, ... A thread
-- that runs out sends "exhausted", which the site refuses (a non-2xx that
-- wrk counts, and the driver reports).

local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  local n = tonumber(args[2])
  tokens = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then
      tokens[#tokens + 1] = line
    end
    i = i + 1
  end
  used = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  used = used + 1
  local token = tokens[used] or "exhausted"
  return wrk.format(nil, nil, nil, '{"refresh": "' .. token .. '"}')
end
