// undici 7 ships no types for its internal modules; src/http/undici.ts casts them to the public types.
declare module 'undici/lib/dispatcher/agent.js' {
  const value: unknown
  export default value
}
declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  const value: unknown
  export default value
}
declare module 'undici/lib/api/api-request.js' {
  const value: unknown
  export default value
}
