// The CRD validation rules (x-kubernetes-validations) of the test server are evaluated by the operator's own
// evaluator (operator/src/kube/cel.ts), the one local mode (`openpds up`, `plan`/`apply`) checks manifests
// with: the server and local mode accept and refuse the same objects, with the same messages.
export { celCauses, compileErrors } from '../../operator/src/kube/cel';
