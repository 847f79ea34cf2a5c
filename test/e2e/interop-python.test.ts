import { TestCluster } from '../helpers/cluster';
import { runPython } from '../helpers/process';

interface Answer {
  payload: string;
  instance_id: string;
  engine: string;
  version: string;
}

describe('interop: python3-grpcio (an independent gRPC implementation) through the router', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'math', type: 'math', instances: 2 }]);
  });
  afterAll(async () => cluster?.stop());

  it('makes unary and bidirectional streaming calls, and gets precise errors', async () => {
    const stdout = await runPython('engine_client.py', [`127.0.0.1:${cluster.router.port}`, 'math'], 30_000);
    const report = JSON.parse(stdout) as {
      unary: Answer[];
      stream: Answer[];
      invalid: { code: string; details: string };
      unknown: { code: string; details: string };
    };
    expect(report.unary.map((a) => JSON.parse(a.payload))).toEqual(Array(4).fill({ n: 20, value: '6765' }));
    expect(new Set(report.unary.map((a) => a.instance_id))).toEqual(new Set(['math-1', 'math-2']));
    expect(report.stream.map((a) => a.payload)).toEqual(['one', '{"n":7919,"prime":true}', 'three']);
    expect(report.invalid).toEqual({
      code: 'INVALID_ARGUMENT',
      details: 'fibonacci: "n" must be an integer from 0 to 5000',
    });
    expect(report.unknown.code).toBe('NOT_FOUND');
    expect(report.unknown.details).toContain('no engine "nowhere"');
  });
});
