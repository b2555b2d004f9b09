import { Module } from '@nestjs/common';
import { StreamsController } from './streams.controller';

/**
 * `POST /v1/streams`: authorises a live stream, stores its record in Redis and hands the client the streamer's
 * socket URL with a signed token. The sessions run in the streamer (apps/streamer), never in the API process. Uses
 * the API module's global config, Redis and job repository.
 */
@Module({ controllers: [StreamsController] })
export class StreamsModule {}
