// config/minisign.pub is compiled in as text (`import … with { type: "text" }`).
declare module "*.pub" {
  const text: string;
  export default text;
}
