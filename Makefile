.PHONY: demo test setup lint

demo:
	hack/demo.sh

test:
	hack/test.sh

setup:
	hack/setup.sh
