-- PUT /point/new with the seed's single-point body. SERIES_ID and TOKEN come from the environment.
local token = os.getenv("TOKEN")
local series_id = os.getenv("SERIES_ID") or "1"
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"token":"' .. token .. '","series_id":' .. series_id .. ',"fields":{"temp_C":21.5}}'
