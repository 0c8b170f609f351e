#!/usr/bin/env python3
"""Calls a running codebookd from Python with the generated stubs (Debian's python3-grpcio):
Lookup, BatchLookup, LookupStream (basic view, two codes a request), DiffReleases and
WatchReleases, and prints what it got as one JSON object,
which tests/cross_language_test.cc compares with the C++ client's answers.

Usage: PYTHONPATH=build/proto/python python3 python_client.py HOST:PORT SYSTEM FROM TO CODE...
"""
import json
import sys

import grpc

from codebook.v1 import terminology_pb2 as tpb
from codebook.v1 import terminology_pb2_grpc as tgrpc
from codebook.v1 import types_pb2


def main():
    address, system, old, new, codes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    out = {}
    with grpc.insecure_channel(address) as channel:
        stub = tgrpc.TerminologyStub(channel)

        found = stub.Lookup(tpb.LookupRequest(
            system=system, code=codes[0], selector=types_pb2.ReleaseSelector(version=new)), timeout=10)
        out["lookup"] = {"code": found.concept.code, "display": found.concept.display,
                         "release": found.release.version}
        try:
            stub.Lookup(tpb.LookupRequest(system="NOSUCH", code=codes[0]), timeout=10)
            out["lookup_error"] = "OK"
        except grpc.RpcError as e:
            out["lookup_error"] = e.code().name

        batch = stub.BatchLookup(tpb.BatchLookupRequest(
            system=system, codes=codes, selector=types_pb2.ReleaseSelector(version=new)), timeout=10)
        out["batch"] = [[r.requested_code, tpb.LookupOutcome.Name(r.outcome), r.concept.display]
                        for r in batch.results]

        requests = [tpb.BatchLookupRequest(system=system, codes=codes[i:i + 2],
                                           selector=types_pb2.ReleaseSelector(version=new),
                                           view=tpb.CONCEPT_VIEW_BASIC)
                    for i in range(0, len(codes), 2)]
        out["stream"] = [[r.requested_code, tpb.LookupOutcome.Name(r.outcome), r.concept.display]
                         for m in stub.LookupStream(iter(requests), timeout=10) for r in m.results]

        changes, summary = 0, None
        for message in stub.DiffReleases(tpb.DiffReleasesRequest(
                system=system, from_version=old, to_version=new), timeout=60):
            changes += len(message.changes)
            if message.HasField("summary"):
                summary = message.summary
        out["diff"] = {"changes": changes, "added": summary.added, "deleted": summary.deleted,
                       "changed_codes": summary.changed_codes}

        events = []
        stream = stub.WatchReleases(tpb.WatchReleasesRequest(system=system, after_sequence=0),
                                    timeout=10)
        for event in stream:
            events.append([event.sequence, tpb.ReleaseEventType.Name(event.type),
                           event.release.version, event.release.checksum])
            if len(events) == 2:
                stream.cancel()  # the feed stays open for live events: stop after the backlog
                break
        out["watch"] = events
    print(json.dumps(out, separators=(",", ":"), ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as e:
        sys.exit("python client: %s %s" % (e.code().name, e.details()))
