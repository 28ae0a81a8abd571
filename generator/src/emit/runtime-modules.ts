/**
 * The runtime packages' code the emitters use, loaded without the packages' entry points.
 *
 * Generation needs three small modules with no imports of their own: the transports' resource
 * descriptors (`rabbitmqResources`, `kafkaResources`) and the list of modules `ajvRuntime` serves.
 * The packages export them only from their entry points, which also load the broker clients
 * (amqplib, kafkajs) and the whole runtime: some 160 ms of a cold `generate`, for nothing it
 * uses. So each module is imported from its file in the package's `dist/`, found through the
 * package's exported `package.json`; the packages are released together with eventform at the
 * same version. Should a file not be there (a checkout before its first build), the package entry
 * is imported instead: slower, same functions.
 *
 * When the runtime packages export these modules as subpaths, import those instead.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type KafkaPackage = typeof import('@eventform/kafka');
type RabbitmqPackage = typeof import('@eventform/rabbitmq');
type RuntimePackage = typeof import('@eventform/runtime');

const require = createRequire(import.meta.url);

export interface TransportResources {
  rabbitmqResources: RabbitmqPackage['rabbitmqResources'];
  kafkaResources: KafkaPackage['kafkaResources'];
}

/** The transports' pure resource descriptors. */
export async function transportResources(): Promise<TransportResources> {
  const [{ rabbitmqResources }, { kafkaResources }] = await Promise.all([
    fromPackage<RabbitmqPackage>('@eventform/rabbitmq', 'dist/resources.js'),
    fromPackage<KafkaPackage>('@eventform/kafka', 'dist/resources.js'),
  ]);
  return { rabbitmqResources, kafkaResources };
}

/** The module ids `ajvRuntime` of @eventform/runtime serves to generated validators. */
export async function ajvRuntimeModules(): Promise<RegExp> {
  return (await fromPackage<RuntimePackage>('@eventform/runtime', 'dist/ajv-runtime.js')).AJV_RUNTIME_MODULE;
}

/** `file` of package `name` (which the package entry re-exports), or the entry when it is missing. */
async function fromPackage<T>(name: string, file: string): Promise<T> {
  const dir = path.dirname(require.resolve(`${name}/package.json`));
  try {
    return (await import(pathToFileURL(path.join(dir, file)).href)) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    return (await import(name)) as T;
  }
}
