// Unit tests of the one container-runtime state reader (src/common/runtime-state.ts) on state
// directories written here (runc's state.json layout, a bundle with its config.json), and of its
// two users: the sensor's ContainerResolver and the policy layer's workload discovery. The "init
// process" of the fake container is this test process, so the pid-reuse check runs for real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  findRuncState,
  isInitProcess,
  labelList,
  listRuncStates,
  readRuncState,
  rfc3339Ns,
  runcStateExists,
  specAnnotations,
  readBundleConfig,
} from '../../../src/common/runtime-state.ts';
import { ContainerResolver, runtimeStateExists } from '../../../src/sensor/container.ts';
import { fromRuncState, scanRuntimeRoots } from '../../../src/policy/workloads.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-rtstate-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const ID = 'a'.repeat(64);
const root = path.join(tmp, 'runc');
const bundle = path.join(tmp, 'bundle');
const cgroupDir = path.join(tmp, 'cg'); // stands in for the unified cgroup directory
const selfStat = readFileSync('/proc/self/stat', 'utf8');
const selfStart = selfStat.slice(selfStat.lastIndexOf(')') + 2).split(' ')[19]!;
const annotations = {
  'io.kubernetes.pod.name': 'web-0',
  'io.kubernetes.pod.namespace': 'shop',
  'io.kubernetes.pod.uid': '11111111-2222-3333-4444-555555555555',
  'io.kubernetes.container.name': 'nginx',
  'io.kubernetes.cri.image-name': 'docker.io/library/nginx:1.27',
};

function writeState(id: string, extra: Record<string, unknown> = {}): string {
  mkdirSync(path.join(root, id), { recursive: true });
  const file = path.join(root, id, 'state.json');
  const labels = [`bundle=${bundle}`, 'tier=frontend', ...Object.entries(annotations).map(([k, v]) => `${k}=${v}`)];
  writeFileSync(
    file,
    JSON.stringify({
      id,
      init_process_pid: process.pid,
      init_process_start: Number(selfStart),
      created: '2026-12-04T05:00:01.123456789Z',
      cgroup_paths: { '': cgroupDir },
      config: {
        rootfs: path.join(bundle, 'rootfs'),
        labels,
        cgroups: { path: `/kubepods/besteffort/pod1/${id}` },
        capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL'] },
      },
      ...extra,
    }),
  );
  return file;
}

mkdirSync(bundle, { recursive: true });
mkdirSync(cgroupDir, { recursive: true });
writeFileSync(
  path.join(bundle, 'config.json'),
  JSON.stringify({ ociVersion: '1.0.2', annotations: { ...annotations, 'not.a.string': 3 }, process: { env: ['PATH=/bin'] }, root: { path: 'rootfs' } }),
);
const stateFile = writeState(ID);

test('helpers: label lists, RFC 3339 to ns, annotations of a spec', () => {
  assert.deepEqual(labelList(['a=1', 'b=x=y', 'nolabel', 3, '=v']), { a: '1', b: 'x=y' });
  assert.deepEqual(labelList(undefined), {});
  assert.equal(rfc3339Ns('2026-12-04T05:00:01.123456789Z'), '1796360401123456789');
  assert.equal(rfc3339Ns('2026-12-04T05:00:01Z'), '1796360401000000000');
  assert.equal(rfc3339Ns('yesterday'), undefined);
  assert.deepEqual(specAnnotations({ annotations: { a: 'x', b: 1 } }), { a: 'x' });
  assert.deepEqual(specAnnotations(undefined), {});
});

test('readRuncState: every field the readers use', () => {
  const st = readRuncState(stateFile)!;
  assert.equal(st.id, ID);
  assert.equal(st.file, stateFile);
  assert.equal(st.initPid, process.pid);
  assert.equal(st.initStart, selfStart);
  assert.equal(st.created, '2026-12-04T05:00:01.123456789Z');
  assert.equal(st.createdNs, '1796360401123456789');
  assert.equal(st.bundle, bundle);
  assert.equal(st.labels.tier, 'frontend');
  assert.equal(st.labels['io.kubernetes.pod.name'], 'web-0');
  assert.equal(st.rootfs, path.join(bundle, 'rootfs'));
  assert.deepEqual(st.boundingCaps, ['CAP_CHOWN', 'CAP_KILL']);
  assert.equal(st.cgroupsPath, `/kubepods/besteffort/pod1/${ID}`);
  assert.equal(st.unifiedCgroupDir, cgroupDir);
  assert.equal(readBundleConfig(st.bundle!)?.ociVersion, '1.0.2');
  assert.equal(isInitProcess(st), true);
});

test('missing, malformed and id-less state is undefined; lookups by id and by root', () => {
  assert.equal(readRuncState(path.join(root, 'nope', 'state.json')), undefined);
  mkdirSync(path.join(root, 'broken'), { recursive: true });
  writeFileSync(path.join(root, 'broken', 'state.json'), '{"id":');
  assert.equal(readRuncState(path.join(root, 'broken', 'state.json')), undefined);
  mkdirSync(path.join(root, 'noid'), { recursive: true });
  writeFileSync(path.join(root, 'noid', 'state.json'), '{"init_process_pid": 1}');
  assert.equal(readRuncState(path.join(root, 'noid', 'state.json')), undefined);
  assert.equal(findRuncState(ID, [path.join(tmp, 'absent'), root])?.id, ID);
  assert.equal(findRuncState('b'.repeat(64), [root]), undefined);
  assert.equal(runcStateExists(ID, [root]), true);
  assert.equal(runcStateExists('b'.repeat(64), [root]), false);
  assert.deepEqual(
    listRuncStates([path.join(tmp, 'absent'), root]).map((s) => s.id),
    [ID],
  );
});

test('a reused pid (another start time) or a dead one is not the init process', () => {
  const st = readRuncState(stateFile)!;
  assert.equal(isInitProcess({ ...st, initStart: String(Number(selfStart) + 1) }), false);
  assert.equal(isInitProcess({ ...st, initStart: undefined }), true);
  assert.equal(isInitProcess({ ...st, initPid: 0x3fffffff }), false);
  assert.equal(isInitProcess({ ...st, initPid: undefined }), false);
});

test('the sensor resolver reads the container from this state', () => {
  const roots = { runc: [root], docker: path.join(tmp, 'docker'), containerdTasks: [], crio: path.join(tmp, 'crio') };
  assert.equal(runtimeStateExists(ID, roots), true);
  const c = new ContainerResolver(roots).forMatch({ fullId: ID, type: 'runc', cgroupPath: `/kubepods/besteffort/pod1/${ID}` });
  assert.equal(c.id, ID.slice(0, 12));
  assert.equal(c.stateFound, true);
  assert.equal(c.bundle, bundle);
  assert.equal(c.startTs, '1796360401123456789');
  assert.equal(c.rootfs, path.join(bundle, 'rootfs'));
  assert.equal(c.privileged, false);
  assert.equal(c.name, 'nginx');
  assert.equal(c.podName, 'web-0');
  assert.equal(c.podNamespace, 'shop');
  assert.equal(c.image, 'docker.io/library/nginx:1.27');
  assert.equal(c.imageRepository, 'docker.io/library/nginx');
  assert.equal(c.imageTag, '1.27');
  assert.equal(c.labels['io.kubernetes.pod.uid'], annotations['io.kubernetes.pod.uid']);
});

test('the policy discovery reads the same state as a workload', () => {
  const w = fromRuncState(stateFile, path.join(tmp, 'unified'))!;
  assert.equal(w.id, ID);
  assert.equal(w.name, 'nginx');
  assert.equal(w.namespace, 'shop');
  assert.equal(w.rootPid, process.pid);
  assert.deepEqual(w.labels, { tier: 'frontend' });
  assert.equal(w.annotations?.['io.kubernetes.pod.name'], 'web-0');
  assert.equal(w.cgroupPath, `/kubepods/besteffort/pod1/${ID}`);
  assert.equal(w.cgroupDir, cgroupDir);
  assert.equal(w.cgroupId, String(statSync(cgroupDir).ino));
  assert.equal(w.mntns, statSync('/proc/self/ns/mnt').ino);
  assert.deepEqual(
    scanRuntimeRoots([root], path.join(tmp, 'unified')).map((x) => x.id),
    [ID],
  );
  // not running any more (the pid's start time differs): no workload
  const gone = writeState('c'.repeat(64), { init_process_start: Number(selfStart) + 1 });
  assert.equal(fromRuncState(gone), undefined);
});
