"""HTTP only: parse the request, call the library, shape the response."""
