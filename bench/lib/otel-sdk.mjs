// Preloaded into a gateway (`node --import bench/lib/otel-sdk.mjs …`) by bench/observability.mjs: a real
// OpenTelemetry SDK that records every span asyncgate makes and drops it at the end, so the bench measures
// what recording spans costs, not an exporter's network. The SDK is a dev dependency of the repository.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

let ended = 0;
const dropping = {
  onStart() {},
  onEnd() {
    ended++;
  },
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [dropping] }));
process.once('exit', () => process.stderr.write(`{"asyncgateBenchSpans":${ended}}\n`));
