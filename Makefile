.PHONY: demo test setup lint

demo:
	hack/demo.sh

test:
	hack/test.sh

setup:
	hack/setup.sh

.PHONY: cluster-up cluster-down
# A real single-node Kubernetes on this machine (hack/cluster/README.md); needs root.
# The last line cluster-up prints is the kubeconfig: export KUBECONFIG=$(make cluster-up | tail -1)
cluster-up:
	@hack/cluster-up.sh

cluster-down:
	@hack/cluster/down.sh
