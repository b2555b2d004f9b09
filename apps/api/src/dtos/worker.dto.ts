import { ApiProperty } from '@nestjs/swagger';

export class WorkerDto {
  @ApiProperty() id!: string;
  @ApiProperty({ example: 'trainer' }) role!: string;
  @ApiProperty({ type: [String] }) queues!: string[];
  @ApiProperty({ enum: ['running', 'blocked', 'stopping'] }) state!: string;
  @ApiProperty() consecutiveFailures!: number;
  @ApiProperty({ nullable: true, type: String }) blockedReason!: string | null;
  @ApiProperty({ nullable: true, type: String }) blockedAt!: string | null;
  @ApiProperty() lastSeen!: string;
}

export class QueueDepthDto {
  @ApiProperty({ description: "Jobs on the queue's wait list (what KEDA's redis list trigger counts)." })
  waiting!: number;
  @ApiProperty({ description: 'Low-priority jobs (BullMQ keeps them in a sorted set, not the wait list).' })
  prioritized!: number;
  @ApiProperty() active!: number;
  @ApiProperty({ description: 'waiting + prioritized.' }) pending!: number;
  @ApiProperty({ description: 'waiting + prioritized + active: what KEDA’s metrics-api trigger scales on.' })
  load!: number;
}

export class HealthDto {
  @ApiProperty({ example: 'ok' }) status!: string;
  @ApiProperty({ example: 's3' }) storage!: string;
}
