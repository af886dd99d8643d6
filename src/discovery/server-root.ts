/**
 * The root URL of a server (scheme, host, port and any path prefix, without a trailing `/v1`
 * or slash): `http://127.0.0.1:8000/v1/` → `http://127.0.0.1:8000`. A backend's `baseUrl` and
 * a `discovery.local[].baseUrl` name the same server exactly when their roots are equal; the
 * probes (`/health`, `/metrics`, `/api/tags`) hang off the root, the API off `<root>/v1`.
 */
export function serverRoot(url: string): string {
  let root = url.replace(/\/+$/, '');
  if (root.endsWith('/v1')) root = root.slice(0, -3).replace(/\/+$/, '');
  try {
    const parsed = new URL(root);
    // `http://LOCALHOST:8000` and `http://localhost:8000` are one server.
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    return root;
  }
}
