-- PUT /point/new with 1,000 points per request, fresh increasing timestamps (what a fleet sends).
local token = os.getenv("TOKEN")
local series_id = os.getenv("SERIES_ID") or "1"
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
request = function()
  counter = counter + 1
  local base = 1700000000 + tid * 10000000 + counter * 1000
  local parts = {}
  for i = 0, 999 do
    parts[#parts + 1] = string.format('{"fields":{"temp_C":%.1f,"batt_V":3.7},"timestamp":%d}',
                                      20 + (i % 70) / 10, base + i)
  end
  local body = '{"token":"' .. token .. '","series_id":' .. series_id .. ',"points":['
               .. table.concat(parts, ",") .. ']}'
  return wrk.format("PUT", "/point/new", {["Content-Type"] = "application/json"}, body)
end
