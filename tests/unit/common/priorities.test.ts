// Unit tests of the one list of alert priorities (src/common/priorities.ts): Falco's order and
// spelling, Falco's parse rules (case-insensitive, INFO alias), and the store's ascending rank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRIORITIES, parsePriority, priorityNum } from '../../../src/common/priorities.ts';
import { PRIORITIES as RULES_PRIORITIES, parsePriority as rulesParse } from '../../../src/rules/index.ts';
import { priorityNum as storeNum } from '../../../src/store/extract.ts';

test('Falco order, most severe first', () => {
  assert.deepEqual([...PRIORITIES], ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug']);
});

test('parsePriority: case-insensitive, trimmed, INFO alias, undefined otherwise', () => {
  assert.equal(parsePriority('WARNING'), 'Warning');
  assert.equal(parsePriority(' critical '), 'Critical');
  assert.equal(parsePriority('info'), 'Informational');
  assert.equal(parsePriority('Informational'), 'Informational');
  assert.equal(parsePriority('severe'), undefined);
  assert.equal(parsePriority(''), undefined);
});

test('priorityNum: the store rank, Debug 0 to Emergency 7; 0 for null and unknown', () => {
  assert.deepEqual(
    PRIORITIES.map((p) => priorityNum(p)),
    [7, 6, 5, 4, 3, 2, 1, 0],
  );
  assert.equal(priorityNum('info'), 1);
  assert.equal(priorityNum('ERROR'), 4);
  assert.equal(priorityNum(null), 0);
  assert.equal(priorityNum('bogus'), 0);
});

test('the rules engine and the store use this one list', () => {
  assert.equal(RULES_PRIORITIES, PRIORITIES);
  assert.equal(rulesParse, parsePriority);
  assert.equal(storeNum, priorityNum);
});
