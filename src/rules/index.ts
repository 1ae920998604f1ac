// Rules engine, public API: what the sensor, the CLI and tests import. Load Falco rules files
// (RuleLoader / loadRulesFiles), ask which event types they need (Ruleset.eventTypes), evaluate
// events (Ruleset.evaluate, or ParallelEvaluator across cores) and serialise alerts (alertToJson).
export { RuleLoader, loadRulesFiles, formatMessage, toVigilError, ENGINE_VERSION, BUILTIN_PLUGINS } from './loader.ts';
export type { LoadResult, LoadMessage, RulesSource, CompileOptions } from './loader.ts';
export { Ruleset, VIGIL_EVENT_TYPES } from './engine.ts';
export type { CompiledRule, RulesetOptions } from './engine.ts';
export { ParallelEvaluator } from './parallel.ts';
export type { ParallelOptions } from './parallel.ts';
export { replay } from './replay.ts';
export type { ReplayOptions, ReplayStats } from './replay.ts';
export { alertToJson, alertToText, buildAlert, compileFormat, renderFormat, DEFAULT_APPEND_OUTPUT } from './output.ts';
export { FIELDS, FIELD_CLASSES, lookupField } from './fields/index.ts';
export { parseCondition, stringSource } from './parser.ts';
export type { Alert, Priority, FieldDef, FieldType, Ev } from './types.ts';
export { PRIORITIES, parsePriority } from './types.ts';
