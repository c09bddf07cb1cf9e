"""citygrid's Open311 endpoint through an independent client: `georeport`
from PyPI (a GeoReport v2 wrapper written against other cities' servers), in
JSON and XML. Run by tests/it/open311.rs with BASE (the /open311/v2 root),
REQUEST_ID (an open request) and SERVICE_CODE."""
import os
import sys

from georeport import GeoReport

base, request_id, code = os.environ["BASE"], os.environ["REQUEST_ID"], os.environ["SERVICE_CODE"]
for fmt in ("json", "xml"):
    client = GeoReport(base, output_format=fmt)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert code in codes, f"{fmt}: {code} not among {len(codes)} services"
    assert all(s["service_name"] for s in services)
    definition = client.get_service_definition(code)
    assert definition["service_code"] == code, definition
    requests = client.get_service_requests(status="open")
    if isinstance(requests, dict):  # xmltodict: one element is not a list
        requests = [requests]
    assert any(r["service_request_id"] == request_id for r in requests), f"{fmt}: {requests}"
    one = client.get_service_request(request_id)
    if fmt == "xml" and isinstance(one, list):
        one = one[0]
    assert one["service_request_id"] == request_id and one["status"] == "open", one
    assert one["service_code"] == code, one
    print(f"ok - georeport ({fmt}): {len(codes)} services, request {request_id} {one['status']}")
sys.exit(0)
