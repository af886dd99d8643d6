import { describe, expect, it } from 'vitest';
import { HARD_QUOTA_CODES, hardQuotaCode } from '../../src/resilience/hard-quota.js';

describe('hardQuotaCode', () => {
  it("finds Anthropic's enforced spend limit in error.details.error_code (a 429 that must not be retried)", () => {
    const body = JSON.stringify({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'You have reached your specified API usage limits.', details: { error_code: 'enforced_spend_limit_reached' } },
      request_id: 'req_011',
    });
    expect(hardQuotaCode(body)).toBe('enforced_spend_limit_reached');
  });

  it("finds Moonshot's exceeded_current_quota_error in error.type", () => {
    const body = JSON.stringify({ error: { message: 'Your account is suspended, please check your plan and billing details', type: 'exceeded_current_quota_error' } });
    expect(hardQuotaCode(body)).toBe('exceeded_current_quota_error');
  });

  it("finds OpenAI's insufficient_quota in error.code", () => {
    const body = JSON.stringify({ error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
    expect(hardQuotaCode(body)).toBe('insufficient_quota');
  });

  it('says nothing for ordinary 429s, other shapes and non-JSON', () => {
    expect(hardQuotaCode(JSON.stringify({ error: { message: 'request reached organization max RPM: 20, please try again after 1 seconds', type: 'rate_limit_reached_error' } }))).toBeUndefined();
    expect(hardQuotaCode(JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } }))).toBeUndefined();
    expect(hardQuotaCode(JSON.stringify({ error: 'model not found' }))).toBeUndefined();
    expect(hardQuotaCode('null')).toBeUndefined();
    expect(hardQuotaCode('[1,2]')).toBeUndefined();
    expect(hardQuotaCode('<html>Too Many Requests</html>')).toBeUndefined();
    expect(hardQuotaCode('')).toBeUndefined();
  });

  it('lists exactly the codes it looks for', () => {
    expect([...HARD_QUOTA_CODES].sort()).toEqual(['enforced_spend_limit_reached', 'exceeded_current_quota_error', 'insufficient_quota']);
  });
});
