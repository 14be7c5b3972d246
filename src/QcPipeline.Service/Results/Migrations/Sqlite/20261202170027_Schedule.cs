using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace QcPipeline.Service.ResultsStore.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Schedule : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ScheduledScans",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    DeviceId = table.Column<long>(type: "INTEGER", nullable: false),
                    Test = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    ScheduledDate = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    ScheduledTime = table.Column<TimeOnly>(type: "TEXT", nullable: false),
                    AccessionNumber = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    RequestedProcedureId = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    StudyInstanceUid = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    StationAeTitle = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Modality = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    ResultId = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedBy = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ScheduledScans", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ScheduledScans_Devices_DeviceId",
                        column: x => x.DeviceId,
                        principalTable: "Devices",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_ScheduledScans_Results_ResultId",
                        column: x => x.ResultId,
                        principalTable: "Results",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "TestPlans",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    DeviceId = table.Column<long>(type: "INTEGER", nullable: false),
                    Test = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Frequency = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Enabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    UpdatedBy = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TestPlans", x => x.Id);
                    table.ForeignKey(
                        name: "FK_TestPlans_Devices_DeviceId",
                        column: x => x.DeviceId,
                        principalTable: "Devices",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ScheduledScans_AccessionNumber",
                table: "ScheduledScans",
                column: "AccessionNumber",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ScheduledScans_DeviceId_ScheduledDate",
                table: "ScheduledScans",
                columns: new[] { "DeviceId", "ScheduledDate" });

            migrationBuilder.CreateIndex(
                name: "IX_ScheduledScans_ResultId",
                table: "ScheduledScans",
                column: "ResultId");

            migrationBuilder.CreateIndex(
                name: "IX_ScheduledScans_Status_ScheduledDate",
                table: "ScheduledScans",
                columns: new[] { "Status", "ScheduledDate" });

            migrationBuilder.CreateIndex(
                name: "IX_TestPlans_DeviceId_Test",
                table: "TestPlans",
                columns: new[] { "DeviceId", "Test" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ScheduledScans");

            migrationBuilder.DropTable(
                name: "TestPlans");
        }
    }
}
