#!/usr/bin/env python3
"""Looks a code up in codebookd from Python: Debian's python3-grpcio and the modules protoc
generates from proto/ (the build puts them in build/proto/python).

  PYTHONPATH=build/proto/python /usr/bin/python3 client/python/example.py 127.0.0.1:50051 ICD10CM E11.9
"""
import sys

import grpc

from codebook.v1 import terminology_pb2, terminology_pb2_grpc

address, system, code = sys.argv[1:4]
with grpc.insecure_channel(address) as channel:  # grpc.secure_channel for a TLS server
    stub = terminology_pb2_grpc.TerminologyStub(channel)
    answer = stub.Lookup(terminology_pb2.LookupRequest(system=system, code=code), timeout=5)
    print(answer.release.version, answer.concept.code, answer.concept.display)
