import { Module } from '@nestjs/common';
import { StreamRegistry } from './stream-registry';
import { StreamSockets } from './stream-socket';
import { StreamsController } from './streams.controller';

/**
 * Live editing streams: `POST /v1/streams` registers one, `ws://…/v1/streams/{id}` runs it (a `LiveEditSession`
 * per connection). Uses the API module's global config, store and job repository.
 */
@Module({ controllers: [StreamsController], providers: [StreamRegistry, StreamSockets], exports: [StreamRegistry] })
export class StreamsModule {}
