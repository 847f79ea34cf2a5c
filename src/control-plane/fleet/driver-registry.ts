import type { DriverName } from '../../model/runtime';
import type { FleetContext } from './fleet-context';
import type { RuntimeDriver } from './driver';
import { ProcessDriver } from './process-driver';
import { staticDriver } from './static-driver';

/** Drivers by name (`runtime.driver`); a new driver is one file and one line here. */
export const DRIVER_FACTORIES: Readonly<Record<DriverName, (ctx: FleetContext) => RuntimeDriver>> = {
  static: () => staticDriver(),
  process: (ctx) => new ProcessDriver(ctx),
};

export function createDrivers(ctx: FleetContext): Map<DriverName, RuntimeDriver> {
  return new Map(
    (Object.keys(DRIVER_FACTORIES) as DriverName[]).map((name) => [name, DRIVER_FACTORIES[name](ctx)]),
  );
}
