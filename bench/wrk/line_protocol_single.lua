-- POST one line of line protocol per request.
local path = os.getenv("WRITE_PATH")
local auth = os.getenv("AUTH")
wrk.method = "POST"
wrk.body = "weather,location=attic temperature=21.5,humidity=40i"
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
wrk.path = path
