#!/bin/sh
# Runs the sharded evaluation on the current kubectl context: the Indexed
# Job, then the merge Job; exits with the gate's verdict.
set -eu
cd "$(dirname "$0")"
kubectl apply -f volumes.yaml
kubectl delete job mnconv-eval mnconv-merge --ignore-not-found
kubectl apply -f eval-indexed-job.yaml
kubectl wait --for=condition=complete job/mnconv-eval --timeout=2h
kubectl apply -f merge-job.yaml
if kubectl wait --for=condition=complete job/mnconv-merge --timeout=10m; then
	kubectl logs job/mnconv-merge
	exit 0
fi
kubectl logs job/mnconv-merge
exit 1
