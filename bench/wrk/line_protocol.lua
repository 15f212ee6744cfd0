-- POST 5,000 lines of line protocol per request, fresh increasing timestamps, 4 series.
-- WRITE_PATH is the full path with query (it differs between our server and InfluxDB).
local path = os.getenv("WRITE_PATH")
local auth = os.getenv("AUTH")
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
request = function()
  counter = counter + 1
  local base = 1700000000 + tid * 10000000 + counter * 5000
  local parts = {}
  for i = 0, 4999 do
    parts[#parts + 1] = string.format(
      "weather,location=attic,sensor=s%d temperature=%.1f,humidity=%di,ok=true %d",
      i % 4, 20 + (i % 70) / 10, 40 + i % 20, base + i)
  end
  local headers = {}
  if auth and auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("POST", path, headers, table.concat(parts, "\n"))
end
