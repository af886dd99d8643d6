import { describe, expect, it } from 'vitest';
import { readSamples, vllmMetrics } from '../../src/discovery/prometheus.js';

const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 3.0
vllm:num_requests_running{engine="1",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 4.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 0.25
vllm:kv_cache_usage_perc{engine="1",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 0.75
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 17.0
`;

describe('Prometheus text', () => {
  it('reads vLLM’s gauges: requests summed over engines, the fullest KV cache', () => {
    expect(vllmMetrics(VLLM)).toEqual({ requestsRunning: 5, requestsWaiting: 4, kvCacheUsage: 0.75 });
  });

  it('falls back to the older vllm:gpu_cache_usage_perc, and says null for a gauge that is not there', () => {
    expect(vllmMetrics('vllm:gpu_cache_usage_perc{model_name="m"} 0.5\n')).toEqual({ requestsRunning: null, requestsWaiting: null, kvCacheUsage: 0.5 });
    expect(vllmMetrics('')).toEqual({ requestsRunning: null, requestsWaiting: null, kvCacheUsage: null });
  });

  it('reads samples without labels, with timestamps, and with label values holding spaces, braces and escaped quotes', () => {
    const text = ['up 1', 'x{a="b c}",b="say \\"hi\\" {"} 2.5 1700000000000', 'x{a="d"} NaN', 'x{a="e"} +Inf', '# x 99', 'xy 7'].join('\n');
    const samples = readSamples(text, new Set(['up', 'x']));
    expect(samples.get('up')).toEqual([1]);
    expect(samples.get('x')).toEqual([2.5, Infinity]);
    expect(samples.has('xy')).toBe(false);
  });
});
