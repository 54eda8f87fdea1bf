// `import p from "x.wasm" with { type: "file" }`: the file's path (under --compile, its embedded /$bunfs path).
declare module "*.wasm" {
  const path: string;
  export default path;
}
