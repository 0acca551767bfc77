// A minimal Kubernetes API endpoint on loopback serving pods and PVCs as JSON, reached by the driver
// through @kubernetes/client-node and a kubeconfig, so the real client code path runs.
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';

export interface FakeObjects {
  pods: Record<string, { uid: string; annotations?: Record<string, string>; runtimeClassName?: string }>;
  pvcs: Record<string, { annotations?: Record<string, string> }>;
}

export async function startApiServer(dir: string, objects: FakeObjects): Promise<{ kubeconfig: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|persistentvolumeclaims)\/([^/?]+)/.exec(req.url ?? '');
    const key = m ? `${m[1]}/${m[3]}` : '';
    res.setHeader('content-type', 'application/json');
    if (m?.[2] === 'pods' && objects.pods[key]) {
      const p = objects.pods[key];
      res.end(JSON.stringify({ kind: 'Pod', apiVersion: 'v1', metadata: { name: m[3], namespace: m[1], uid: p.uid, annotations: p.annotations ?? {} }, spec: { runtimeClassName: p.runtimeClassName } }));
    } else if (m?.[2] === 'persistentvolumeclaims' && objects.pvcs[key]) {
      res.end(JSON.stringify({ kind: 'PersistentVolumeClaim', apiVersion: 'v1', metadata: { name: m[3], namespace: m[1], annotations: objects.pvcs[key].annotations ?? {} } }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: http://127.0.0.1:${port}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\ncurrent-context: test\nusers:\n- name: test\n  user: {}\n`,
  );
  return { kubeconfig, requests };
}
