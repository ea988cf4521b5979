-- garbage.lua - hostile POSTs to the ACS for the soak test: every body is
-- something the module must refuse with a 4xx (never a 5xx, never a
-- session). Counts statuses; a 5xx or a Set-Cookie is a failure.
-- wrk -s garbage.lua URL -- DELAYMS
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local function rep(s, n)
   local t = {}
   for i = 1, n do t[i] = s end
   return table.concat(t)
end

function init(args)
   pace = tonumber(args[1] or "0")
   ok, bad, n5xx, cookies = 0, 0, 0, 0
   st = ""
   statuses = {}
   math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
   bodies = {
      "SAMLResponse=" .. rep("A", 64),                          -- base64 of zeros
      "SAMLResponse=%%%%not-base64%%%%",                         -- broken
      "SAMLResponse=PHNhbWxwOlJlc3BvbnNl",                       -- truncated XML
      "SAMLResponse=" .. rep("PD94bWwgdmVyc2lvbj0iMS4wIj8%2B", 40), -- repeated decl
      -- <!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>
      "SAMLResponse=PCFET0NUWVBFIHggWzwhRU5USVRZIGEgImIiPl0%2BPHg%2BJmE7PC94Pg%3D%3D",
      "RelayState=%2F",                                          -- no SAMLResponse
      "SAMLResponse=AA&SAMLResponse=AA",                         -- two fields
      rep("x", 4096),                                            -- not a form
   }
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function delay()
   return pace
end

function request()
   local b = bodies[math.random(#bodies)]
   if math.random(8) == 1 then
      -- random bytes, url-encoded
      local t = {}
      for i = 1, math.random(1, 600) do t[i] = string.format("%%%02X", math.random(0, 255)) end
      b = "SAMLResponse=" .. table.concat(t)
   end
   return wrk.format("POST", wrk.path, nil, b)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local cookie = headers["Set-Cookie"] or headers["set-cookie"]
   if status >= 400 and status < 500 and cookie == nil then
      ok = ok + 1
   else
      bad = bad + 1
   end
   local parts = {}
   for k, v in pairs(statuses) do parts[#parts + 1] = k .. ":" .. v end
   st = table.concat(parts, ",")
end

function done(summary, latency, requests)
   local tok, tbad = 0, 0
   local st_all = {}
   for _, t in ipairs(threads) do
      tok = tok + t:get("ok")
      tbad = tbad + t:get("bad")
      st_all[#st_all + 1] = t:get("st") or ""
   end
   io.write(string.format("RESULT ok=%d bad=%d exhausted=0 used_per_thread=0 " ..
                          "duration_us=%d p50_us=%d p99_us=%d statuses=%s\n",
                          tok, tbad, summary.duration, latency:percentile(50),
                          latency:percentile(99), table.concat(st_all, ";")))
end
